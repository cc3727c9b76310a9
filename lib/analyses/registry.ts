/**
 * The analyses implemented in this version, in SPEC order. An analysis of the catalog (`catalog.ts`)
 * that is not listed here is not available: its flag and config key are rejected with
 * ERR_ANALYSIS_UNAVAILABLE rather than answered with made-up output.
 *
 * @module
 */
import type { Analysis } from './Analysis.js';
import type { AnalysisKey } from './catalog.js';
import { anomalyDetection } from './anomalyDetection.js';
import { changeSummary } from './changeSummary.js';
import { convergenceAnalysis } from './convergenceAnalysis.js';
import { learningProgress } from './learningProgress.js';
import { sortByChangeMagnitude } from './sortByChangeMagnitude.js';

/** Implemented analyses in SPEC order (#1, #2, #3, #27, #28). */
export const ANALYSES: readonly Analysis[] = [learningProgress, convergenceAnalysis, anomalyDetection, sortByChangeMagnitude, changeSummary];

/** The implemented analysis with this key, or undefined when it is not available in this version. */
export function getAnalysis(key: AnalysisKey | string): Analysis | undefined {
  return ANALYSES.find((a) => a.key === key);
}
