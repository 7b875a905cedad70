/** @farmer/eval: filled in by its own issue. */
export {};
