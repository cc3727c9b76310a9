/**
 * The names quantized exports give the parameters stored beside integer codes.
 *
 * @module
 */

/**
 * Suffixes of quantization parameters after a tensor's name (`fc1.weight_scale`, `fc1.weight.scale`,
 * TF.js `fc1.weight.q_scale` / `.q_min`) or after its module's name (the `fc1.scale` / `fc1.zero_point`
 * activation parameters of a torch dynamic-quantized Linear). The one list every reader of these
 * conventions uses: `lib/quant/quantEncoding.ts` (which of them fit the codes), tensor roles, parameter
 * counting and the precision-change test.
 */
export const QUANT_PARAM_SUFFIXES: readonly string[] = ['.q_scale', '.q_min', '_scale', '.scale', '_zero_point', '.zero_point'];
