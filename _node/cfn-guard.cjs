// Runs the Control Tower proactive-control guard rules that
// @cdklabs/cdk-validator-cfnguard bundles (and its bundled cfn-guard binary)
// against synthesized templates, through the plugin's own validate() API, and
// prints its report as JSON: {success, violations: [{ruleName, description,
// fix, violatingResources: [{resourceLogicalId, locations, templatePath}]}]}.
// The plugin is written for CDK apps in JavaScript; mirrorflow's is Go, so its
// tests call this script on the template `cdk synth` wrote.
//
// Usage: node cfn-guard.cjs TEMPLATE.json...
'use strict';

const { CfnGuardValidator } = require('@cdklabs/cdk-validator-cfnguard');

const templatePaths = process.argv.slice(2);
if (templatePaths.length === 0) {
  console.error('usage: node cfn-guard.cjs TEMPLATE.json...');
  process.exit(2);
}
const report = new CfnGuardValidator().validate({ templatePaths });
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
