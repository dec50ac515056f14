// SPDX-License-Identifier: PolyForm-Shield-1.0
// A strict parser of Prometheus text format 0.0.4 for tests: it throws on whatever a scraper would reject.

export interface PrometheusSample {
  /** The sample's own name: `x_bucket`, `x_sum` and `x_count` for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: PrometheusSample[];
}

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/**
 * Families by name. Beyond the format itself it insists on what helexa promises: every sample's
 * family has HELP and TYPE before its samples, a family's lines are together, no series twice,
 * and every histogram's buckets are cumulative and end in `+Inf` equal to `_count`.
 */
export function parsePrometheusText(text: string): Map<string, PrometheusFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, PrometheusFamily>();
  const helps = new Map<string, string>();
  const closed = new Set<string>();
  const seriesSeen = new Set<string>();
  let current: string | null = null;

  const enter = (name: string, lineNumber: number) => {
    if (current === name) return;
    if (closed.has(name)) throw new Error(`line ${lineNumber}: ${name}'s lines are not together`);
    if (current !== null) closed.add(current);
    current = name;
  };

  text
    .split("\n")
    .slice(0, -1)
    .forEach((line, index) => {
      const lineNumber = index + 1;
      if (line.trim() === "") return;
      if (line.startsWith("#")) {
        const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
        if (!match) return; // Any other comment is allowed and means nothing.
        const [, keyword, name, rest] = match as unknown as [string, string, string, string];
        if (!metricNamePattern.test(name)) throw new Error(`line ${lineNumber}: invalid metric name ${name}`);
        enter(name, lineNumber);
        if (keyword === "HELP") {
          if (helps.has(name)) throw new Error(`line ${lineNumber}: a second HELP for ${name}`);
          helps.set(name, unescapeText(rest, "help", lineNumber));
          const family = families.get(name);
          if (family) family.help = helps.get(name)!;
        } else {
          if (families.has(name)) throw new Error(`line ${lineNumber}: a second TYPE for ${name}`);
          if (!types.has(rest)) throw new Error(`line ${lineNumber}: unknown type ${rest}`);
          families.set(name, {
            name,
            help: helps.get(name) ?? "",
            type: rest as PrometheusFamily["type"],
            samples: [],
          });
        }
        return;
      }
      const sample = parseSample(line, lineNumber);
      const family = familyOf(sample.name, families);
      if (!family) throw new Error(`line ${lineNumber}: ${sample.name} has no TYPE before it`);
      if (!helps.has(family.name)) throw new Error(`line ${lineNumber}: ${family.name} has no HELP`);
      enter(family.name, lineNumber);
      const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
      if (seriesSeen.has(key)) throw new Error(`line ${lineNumber}: the series ${key} appears twice`);
      seriesSeen.add(key);
      family.samples.push(sample);
    });

  for (const family of families.values()) {
    if (!helps.has(family.name)) throw new Error(`${family.name} has a TYPE but no HELP`);
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** The value of the one sample with this name and these labels (others ignored), or undefined. */
export function sampleValue(
  families: Map<string, PrometheusFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      if (Object.entries(labels).every(([label, value]) => sample.labels[label] === value))
        return sample.value;
    }
  }
  return undefined;
}

function familyOf(sampleName: string, families: Map<string, PrometheusFamily>): PrometheusFamily | undefined {
  const exact = families.get(sampleName);
  if (exact) return exact;
  const match = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  if (!match) return undefined;
  const family = families.get(match[1]!);
  if (!family) return undefined;
  if (family.type === "histogram") return family;
  if (family.type === "summary" && match[2] !== "bucket") return family;
  return undefined;
}

function parseSample(line: string, lineNumber: number): PrometheusSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`line ${lineNumber}: no metric name in ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let position = name.length;
  const labels: Record<string, string> = {};
  if (line[position] === "{") {
    position++;
    while (line[position] !== "}") {
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(position));
      if (!labelMatch) throw new Error(`line ${lineNumber}: a bad label at ${line.slice(position)}`);
      const labelName = labelMatch[1]!;
      if (!labelNamePattern.test(labelName) || labelName.startsWith("__"))
        throw new Error(`line ${lineNumber}: invalid label name ${labelName}`);
      if (labelName in labels) throw new Error(`line ${lineNumber}: label ${labelName} twice`);
      position += labelMatch[0].length;
      let raw = "";
      for (;;) {
        const char = line[position];
        if (char === undefined) throw new Error(`line ${lineNumber}: an unterminated label value`);
        if (char === '"') break;
        if (char === "\\") {
          raw += char + (line[position + 1] ?? "");
          position += 2;
          continue;
        }
        raw += char;
        position++;
      }
      labels[labelName] = unescapeText(raw, "label", lineNumber);
      position++;
      if (line[position] === ",") position++;
      else if (line[position] !== "}") throw new Error(`line ${lineNumber}: expected , or } after a label`);
    }
    position++;
  }
  const rest = line.slice(position);
  const valueMatch = /^ (\S+)( -?\d+)?$/.exec(rest);
  if (!valueMatch)
    throw new Error(`line ${lineNumber}: expected " value [timestamp]", got ${JSON.stringify(rest)}`);
  return { name, labels, value: parseValue(valueMatch[1]!, lineNumber) };
}

function parseValue(text: string, lineNumber: number): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${lineNumber}: ${JSON.stringify(text)} is not a number`);
  return Number(text);
}

function unescapeText(text: string, kind: "help" | "label", lineNumber: number): string {
  let out = "";
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (char !== "\\") {
      if (kind === "label" && char === "\n") throw new Error(`line ${lineNumber}: a raw newline`);
      out += char;
      continue;
    }
    const next = text[++index];
    if (next === "\\") out += "\\";
    else if (next === "n") out += "\n";
    else if (next === '"' && kind === "label") out += '"';
    else throw new Error(`line ${lineNumber}: the escape \\${next ?? ""} is not allowed in a ${kind}`);
  }
  return out;
}

function checkHistogram(family: PrometheusFamily): void {
  const groups = new Map<
    string,
    { buckets: Array<{ le: number; value: number }>; count?: number; sum?: number }
  >();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let group = groups.get(key);
    if (!group) {
      group = { buckets: [] };
      groups.set(key, group);
    }
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      group.buckets.push({ le: parseValue(le, 0), value: sample.value });
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else throw new Error(`${family.name}: unexpected sample ${sample.name}`);
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`;
    if (group.count === undefined || group.sum === undefined) throw new Error(`${where}: no _count or _sum`);
    group.buckets.forEach((bucket, index) => {
      const previous = group.buckets[index - 1];
      if (previous && !(bucket.le > previous.le)) throw new Error(`${where}: le does not increase`);
      if (previous && bucket.value < previous.value) throw new Error(`${where}: buckets are not cumulative`);
    });
    const last = group.buckets.at(-1);
    if (!last || last.le !== Number.POSITIVE_INFINITY) throw new Error(`${where}: no +Inf bucket`);
    if (last.value !== group.count) throw new Error(`${where}: the +Inf bucket is not _count`);
  }
}
