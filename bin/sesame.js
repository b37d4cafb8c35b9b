#!/usr/bin/env node
import '../dist/sesame.js';
