/** @farmer/flow: filled in by its own issue. */
export {};
