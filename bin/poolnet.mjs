#!/usr/bin/env node
// poolnet: the prebuilt bundle when it is up to date, else the TypeScript sources (launch.mjs).
import { launch } from './launch.mjs';
await launch('poolnet', 'src/cli/poolnet.ts');
