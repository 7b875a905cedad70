// Resolve options for the graph check, in the shape of a webpack config (dependency-cruiser's
// `options.webpackConfig` reads only its `resolve`; webpack itself is not used). An import
// of a workspace package (`@farmer/core`, `@farmer/onnx/runtime`) resolves to that
// package's source, not its build: the check needs no build and sees one graph of files.
const { sourceAliases } = require('./workspaces.cjs');

module.exports = { resolve: { alias: sourceAliases(process.cwd()) } };
