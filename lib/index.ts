/**
 * diffai: compare ML model files tensor by tensor at memory speed, and explain what changed.
 *
 * The library behind the `diffai` command. Typical use:
 *
 * ```ts
 * import { compare, loadConfig, formatCli } from 'diffai';
 * const { config } = loadConfig({ flags: { ml_analysis: { learning_progress: true } } });
 * const report = await compare(['ckpt_10.safetensors', 'ckpt_20.safetensors'], { config });
 * process.stdout.write(formatCli(report));
 * ```
 *
 * @module
 */
export { DiffaiError, isDiffaiError, type ErrorCode, type DiffaiErrorOptions } from './errors.js';
export { DTYPES, isDType, isFloatDType, byteLengthOf, type DType, type DTypeInfo, type DTypeKind } from './formats/dtype.js';
export type { ModelFile, ModelFormat, TensorDescriptor, TensorSource, ByteSource } from './formats/TensorDescriptor.js';
export type { ModelReader, ReadOptions } from './formats/ModelReader.js';
export { openModel } from './formats/openModel.js';
export { diffModels, diffFiles, summarize, isTiedAlias, type DiffOptions, type DiffProgress } from './diff/diffModels.js';
export { tensorStats, tensorStatsSync, type TensorStatsOptions } from './diff/tensorStats.js';
export type {
  DiffRun,
  ModelDiff,
  TensorDiff,
  TensorStats,
  PairDiff,
  TensorStatus,
  DiffSummary,
  InputInfo,
  TrajectoryStep,
  TensorEntry,
  SpectralNorm,
  AbsHistogram,
  DequantDiff,
  QuantEncodingInfo,
} from './diff/ModelDiff.js';
export { compare, selectAnalyses, runAnalyses, needsOf, type CompareOptions } from './compare.js';
export type { Analysis, AnalysisResult, AnalysisContext, AnalysisNeeds, AnalysisLevel } from './analyses/Analysis.js';
export { ANALYSIS_KEYS, flagOf, type AnalysisKey } from './analyses/catalog.js';
export { ANALYSES, getAnalysis } from './analyses/registry.js';
export { recognizeStructure, type StructureInput } from './structure/recognizeStructure.js';
export type { ModelStructure, Layer, LayerKind, Component, DepthOrder, AttentionLayout } from './structure/ModelStructure.js';
export { modelCost, computeTypeOf, type ModelCost, type LayerCost, type CostOptions, type CostTime } from './cost/modelCost.js';
export { compareCosts, type CostComparison, type RegimeCondition } from './cost/compareCosts.js';
export { HARDWARE_PROFILES, hardwareProfile, COMPUTE_TYPES, type HardwareProfile, type ComputeType } from './cost/hardwareProfiles.js';
export { inputShapeProblem, parseInputShape, MAX_INPUT_DIM, MAX_INPUT_ELEMENTS } from './cost/inputShape.js';
export { findQuantEncoding, searchQuantEncoding, affineOf, affineMap, channelAxis, isIntegerCoded, type QuantEncoding, type QuantModel, type QuantEncodingSearch } from './quant/quantEncoding.js';
export { DEFAULT_CONFIG, HARDWARE_PROFILE_NAMES, type Config, type Thresholds, type OutputConfig, type OutputFormat, type SortKey, type HardwareProfileName } from './config/Config.js';
export { loadConfig, overridesFromEnv, validateOverrides, findConfigFile, type ConfigSources, type ConfigOverrides, type LoadedConfig } from './config/loadConfig.js';
export type { Report, AnalysisOutput, FormatOptions } from './report/Report.js';
export { formatCli, tensorLine, summaryLine } from './report/formatCli.js';
export { formatJson } from './report/formatJson.js';
export { formatYaml } from './report/formatYaml.js';
export { toDocument, hasDifferences, SCHEMA } from './report/toDocument.js';
export { formatNumber } from './report/formatNumber.js';
export { compareDirectories, isDirectoryPair, type DirectoryReport, type DirectoryEntryReport } from './compareDirectories.js';
export { pairDirectories, MODEL_EXTENSIONS, type DirectoryPairs, type PairOptions } from './formats/directory/pairDirectories.js';
export type { FileMapper } from './formats/numpy/mapFile.js';
// The raw addon contract, for tools that embed the kernels directly.
export type * from './native/AddonTypes.js';
export { scanFile, type ScanResult } from './formats/pytorch/scanFile.js';
export type { ScanFinding } from './formats/pytorch/scanPickle.js';
export { dequantize } from './formats/pytorch/dequantize.js';
export { formatDirectoryCli, formatDirectoryJson, formatDirectoryYaml, directoryDocument, directoryHasDifferences } from './report/formatDirectory.js';
export { formatScanCli, formatScanJson, formatScanYaml, scanDocument, type ScanOutcome } from './report/formatScan.js';
