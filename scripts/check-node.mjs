// npm scripts put node_modules/.bin first on PATH, so this runs on the repo's own Node (the `node` devDependency).
// If that package's install script was skipped we would silently fall back to the system Node and fail later with
// a confusing error about ".ts" files; fail here instead, with the fix.
const major = Number(process.versions.node.split(".")[0])
if (major < 24) {
  console.error(
    `effect-compute needs Node >= 24 to run its scripts, but this is Node ${process.version} (${process.execPath}).\n` +
      `The repo brings Node 24 as the devDependency "node"; its install script must run: ` +
      `rerun \`npm install\` (and do not pass --ignore-scripts).`
  )
  process.exit(1)
}
