export { calibrationFromArray as memoryCalibration } from '../../src/calib/memory.js';
