// Builds the workbench's editor: bundles editor/sparql-editor.js and the npm packages it
// imports into server/odr_kg/web/static/build/ with esbuild, and writes beside the bundle the
// license of every package in it (CodeMirror and its parts are MIT: their notices must travel
// with the copy we serve). `make` runs this (`npm run build`) when the source changes.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as esbuild from "esbuild";

const outfile = "server/odr_kg/web/static/build/sparql-editor.js";
const licenses = outfile.replace(/\.js$/, ".licenses.txt");

const result = await esbuild.build({
  entryPoints: ["editor/sparql-editor.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile,
  metafile: true,
  legalComments: "none",
  banner: { js: "/*! odr-kg SPARQL editor, made of CodeMirror 6 (MIT): see sparql-editor.licenses.txt */" },
});

const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (match) {
    packages.add(match[1]);
  }
}
let text = "The packages bundled into sparql-editor.js, with their licenses.\n\n";
for (const name of [...packages].sort()) {
  const about = JSON.parse(readFileSync(`node_modules/${name}/package.json`, "utf8"));
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt"]
    .map((candidate) => `node_modules/${name}/${candidate}`)
    .find((path) => existsSync(path));
  text += `== ${name} ${about.version} (${about.license})\n\n`;
  text += file ? `${readFileSync(file, "utf8").trim()}\n\n` : "\n";
}
writeFileSync(licenses, text);
console.log(`${outfile}: ${readFileSync(outfile).length} bytes, ${packages.size} packages`);
