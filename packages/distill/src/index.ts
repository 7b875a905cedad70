/** @farmer/distill: filled in by its own issue. */
export {};
