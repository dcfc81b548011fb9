/**
 * PII tokenization hooks (issue 5). Contract for the governance assembly (src/hooks/build.ts):
 *
 *   createPiiHooks(config.pii, { vault, metrics, log }) => { pre?: PreHook; post?: PostHook } | undefined
 *
 * `pre` tokenizes/redacts/blocks PII in the arguments of tools/call and prompts/get (and the URI of
 * resources/read) before the upstream; `post` detokenizes tokens of the caller's scope in results and
 * masks PII that originates upstream. `undefined` when `pii.mode` is `off`.
 */
export {};
