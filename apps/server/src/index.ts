/** @farmer/server: filled in by its own issue. */
export {};
