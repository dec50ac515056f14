// SPDX-License-Identifier: PolyForm-Shield-1.0
// Labelled form fields: the label, a hint, and the field's error tied to the input for screen readers.

import type { InputHTMLAttributes, ReactNode } from "react";

export interface FieldControlProps {
  id: string;
  "aria-invalid": boolean | undefined;
  "aria-describedby": string | undefined;
}

export function Field(props: {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
  className?: string;
  children: (control: FieldControlProps) => ReactNode;
}) {
  const { id, label, hint, error, className, children } = props;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = error ? `${id}-error` : null;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={className ? `field ${className}` : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy })}
      {hint ? (
        <p className="field-hint" id={hintId ?? undefined}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId ?? undefined}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** The input's own attributes; Field owns its id and ARIA, and the value travels as text. */
type InputAttributes = Omit<
  InputHTMLAttributes<HTMLInputElement>,
  "id" | "value" | "onChange" | "aria-invalid" | "aria-describedby"
>;

export type InputFieldProps = InputAttributes & {
  id: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string | undefined;
  value: string;
  onValueChange: (value: string) => void;
};

/** A Field holding one text input bound to a string: the form's state in, each edit's text out. */
export function InputField(props: InputFieldProps) {
  const { id, label, hint, error, value, onValueChange, ...input } = props;
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      {(control) => (
        <input
          {...control}
          {...input}
          value={value}
          onChange={(event) => onValueChange(event.target.value)}
        />
      )}
    </Field>
  );
}

/** An account's email, as sign-in, sign-up and reset ask for it: the email keyboard and the browser's autofill. */
export function EmailField(props: Omit<InputFieldProps, "label">) {
  return (
    <InputField
      label="Email"
      type="email"
      name="email"
      autoComplete="email"
      inputMode="email"
      required
      {...props}
    />
  );
}

/**
 * A password. `autoComplete` is required so each form says whether a password manager should fill the
 * saved password ("current-password") or offer a new one ("new-password").
 */
export function PasswordField(
  props: Omit<InputFieldProps, "label" | "autoComplete"> & {
    label?: ReactNode;
    autoComplete: "current-password" | "new-password";
  },
) {
  return <InputField label="Password" type="password" required {...props} />;
}
