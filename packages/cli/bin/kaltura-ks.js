#!/usr/bin/env node
// The published entry point: runs the built CLI (dist/) with the process's arguments.
import { runFromProcess } from '../dist/main.js';

runFromProcess();
