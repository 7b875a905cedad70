/** @farmer/sampling: filled in by its own issue. */
export {};
