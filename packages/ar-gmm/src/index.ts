/** @farmer/ar-gmm: filled in by its own issue. */
export {};
