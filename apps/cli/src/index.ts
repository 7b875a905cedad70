/** @farmer/cli: filled in by its own issue. */
export {};
