/**
 * One driver in one process: `node child.js CASE DRIVER JSON-PARAMS` prints one JSON Measurement.
 */
import { caseNamed } from './cases.js';

const [caseName, driverName, json] = process.argv.slice(2);
const driver = caseNamed(caseName).drivers.find((d) => d.name === driverName);
if (!driver) throw new Error(`case ${caseName} has no driver ${driverName}`);
const measurement = await driver.run(JSON.parse(json));
process.stdout.write(`${JSON.stringify(measurement)}\n`);
