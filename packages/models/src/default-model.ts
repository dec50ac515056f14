// SPDX-License-Identifier: PolyForm-Shield-1.0
// The model `helexa up` serves when none is named: a small instruct model that runs on any CPU.

export interface ModelEntry {
  id: string;
  fileName: string;
  url: string;
  /** Of the exact file at `url`; absent when not known, and then only the size is checked. */
  sha256?: string;
  sizeBytes?: number;
  contextLength: number;
}

/**
 * Qwen2.5-0.5B-Instruct in GGUF Q4_K_M from Qwen's own repository (Apache-2.0). The sha256 and size
 * are those of the Git LFS object of that file (revision 9217f5db79a29953eb74d5343926648285ec7e67).
 */
export const defaultModel = {
  id: "qwen2.5-0.5b-instruct",
  fileName: "qwen2.5-0.5b-instruct-q4_k_m.gguf",
  url: "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/9217f5db79a29953eb74d5343926648285ec7e67/qwen2.5-0.5b-instruct-q4_k_m.gguf",
  sha256: "74a4da8c9fdbcd15bd1f6d01d621410d31c6fc00986f5eb687824e7b93d7a9db",
  sizeBytes: 491_400_032,
  contextLength: 32768,
} as const satisfies ModelEntry;
