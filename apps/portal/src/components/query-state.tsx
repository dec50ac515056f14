// SPDX-License-Identifier: PolyForm-Shield-1.0
// What a query shows, the same on every page: grey bars while it loads, its error, an empty note, or its data.

import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Empty, ErrorNote, SkeletonRows } from "./status";

/** An empty list counts as nothing to show unless the caller says what empty means for its data. */
function isEmptyList(data: unknown): boolean {
  return Array.isArray(data) && data.length === 0;
}

/**
 * Renders `children(data)` once the query has data. Until then: `loading` if given, otherwise
 * `skeletonRows` grey bars; on failure, the error. With `empty`, that note stands in for the data when
 * `isEmpty(data)` holds (by default: the data is an empty list).
 */
export function QueryState<TData, TError>(props: {
  query: UseQueryResult<TData, TError>;
  skeletonRows?: number;
  loading?: ReactNode;
  empty?: ReactNode;
  isEmpty?: (data: TData) => boolean;
  children: (data: TData) => ReactNode;
}) {
  const { query, skeletonRows, loading, empty, isEmpty = isEmptyList, children } = props;
  if (query.isPending) return <>{loading ?? <SkeletonRows rows={skeletonRows} />}</>;
  if (query.isError) return <ErrorNote error={query.error} />;
  if (empty !== undefined && isEmpty(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}
