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
import { architectureComparison } from './architectureComparison.js';
import { changeSummary } from './changeSummary.js';
import { convergenceAnalysis } from './convergenceAnalysis.js';
import { gradientAnalysis } from './gradientAnalysis.js';
import { inferenceSpeedEstimate } from './inferenceSpeedEstimate.js';
import { learningProgress } from './learningProgress.js';
import { memoryAnalysis } from './memoryAnalysis.js';
import { paramEfficiencyAnalysis } from './paramEfficiencyAnalysis.js';
import { performanceImpactEstimate } from './performanceImpactEstimate.js';
import { quantizationAnalysis } from './quantizationAnalysis.js';
import { sortByChangeMagnitude } from './sortByChangeMagnitude.js';

/** Implemented analyses in SPEC order (#1 - #8, #15, #26, #27, #28). */
export const ANALYSES: readonly Analysis[] = [
  learningProgress,
  convergenceAnalysis,
  anomalyDetection,
  gradientAnalysis,
  architectureComparison,
  paramEfficiencyAnalysis,
  memoryAnalysis,
  inferenceSpeedEstimate,
  performanceImpactEstimate,
  quantizationAnalysis,
  sortByChangeMagnitude,
  changeSummary,
];

/** The implemented analysis with this key, or undefined when it is not available in this version. */
export function getAnalysis(key: AnalysisKey | string): Analysis | undefined {
  return ANALYSES.find((a) => a.key === key);
}
