/**
 * One driver in one process: `node child.js DRIVER JSON-PARAMS` prints one JSON Measurement.
 */
import { driverNamed } from './drivers.js';

const [name, json] = process.argv.slice(2);
const measurement = await driverNamed(name).randomRead(JSON.parse(json));
process.stdout.write(`${JSON.stringify(measurement)}\n`);
