/** @farmer/onnx: filled in by its own issue. */
export {};
