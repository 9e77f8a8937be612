// 构建 npm as WeChat DevTools does it for this project: project.config.json's
// setting.packNpmManually with its packNpmRelationList, each relation built by
// miniprogram-ci's packNpmManually (what DevTools' compiler calls for such a project).
// Offline: the package comes from miniprogram/node_modules (npm ci), linked to client/.
const fs = require('fs');
const path = require('path');

// miniprogram-ci logs "[miniprogram-builder] initservices CI" as it loads: not a test's output.
const log = console.log;
console.log = () => {};
let ci;
try {
  ci = require('miniprogram-ci');
} finally {
  console.log = log;
}

const PROJECT = path.resolve(__dirname, '../..');
const MINIPROGRAM = path.join(PROJECT, 'miniprogram');
const BUILT = path.join(MINIPROGRAM, 'miniprogram_npm/wxlogin-client/index.js');

function projectConfig() {
  return JSON.parse(fs.readFileSync(path.join(PROJECT, 'project.config.json'), 'utf8'));
}

/** Runs 构建 npm; resolves with each relation's result (miniProgramPackNum, otherNpmPackNum, warnList). */
async function buildNpm() {
  const { setting } = projectConfig();
  if (!setting.packNpmManually || !Array.isArray(setting.packNpmRelationList)) {
    throw new Error('project.config.json: setting.packNpmManually and packNpmRelationList are expected');
  }
  const results = [];
  for (const relation of setting.packNpmRelationList) {
    const packageJsonPath = path.join(PROJECT, relation.packageJsonPath);
    if (!fs.existsSync(path.join(path.dirname(packageJsonPath), 'node_modules'))) {
      throw new Error(`no node_modules beside ${packageJsonPath}: npm ci --prefix ${path.dirname(packageJsonPath)}`);
    }
    results.push(await ci.packNpmManually({
      packageJsonPath,
      miniprogramNpmDistDir: path.join(PROJECT, relation.miniprogramNpmDistDir),
    }));
  }
  return results;
}

module.exports = { PROJECT, MINIPROGRAM, BUILT, projectConfig, buildNpm };
