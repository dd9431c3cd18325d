/**
 * What a CodeBuild build may cost, for the warning shown before one starts.
 *
 * Source: the AWS CodeBuild pricing page (https://aws.amazon.com/codebuild/pricing/), on-demand EC2 compute, price
 * per build minute in US East (N. Virginia), as known when this table was written. Prices change and differ by
 * region; these values may be out of date — the pricing page is authoritative. Compute types whose price is not in
 * the table get no dollar figure rather than a guess. Billing is per started minute, from the start of
 * PROVISIONING to the end of the build (queue time is free); the first 100 BUILD_GENERAL1_SMALL Linux minutes a
 * month are in the free tier. S3 storage of the context zip and CloudWatch Logs are billed separately (cents).
 *
 * The seed quotes "~$0.10/build (BUILD_GENERAL1_MEDIUM, ~20-25 min for PyTorch images)"; at the listed
 * $0.01/minute a 20-25 minute MEDIUM build is about $0.20-0.25, so the note gives both figures.
 */

/** Per-minute USD by `<environment type>/<compute type>`. */
export const CODEBUILD_PRICE_PER_MINUTE_USD: Readonly<Record<string, number>> = {
  'LINUX_CONTAINER/BUILD_GENERAL1_SMALL': 0.005,
  'LINUX_CONTAINER/BUILD_GENERAL1_MEDIUM': 0.01,
  'LINUX_CONTAINER/BUILD_GENERAL1_LARGE': 0.02,
  'LINUX_CONTAINER/BUILD_GENERAL1_2XLARGE': 0.2,
  'LINUX_GPU_CONTAINER/BUILD_GENERAL1_LARGE': 0.65,
  'ARM_CONTAINER/BUILD_GENERAL1_SMALL': 0.0034,
  'ARM_CONTAINER/BUILD_GENERAL1_LARGE': 0.015,
};

export const PRICING_SOURCE =
  'AWS CodeBuild pricing page (aws.amazon.com/codebuild/pricing), on-demand, us-east-1, per build minute; may be out of date';

/** The seed's "~20-25 min for PyTorch images": the typical estimate uses the middle. */
export const TYPICAL_BUILD_MINUTES = 22;

export interface CostEstimate {
  compute_type: string;
  environment_type: string;
  /** Undefined when the compute type is not in the table. */
  per_minute_usd?: number;
  typical_minutes: number;
  typical_usd?: number;
  /** The build's timeout: the most it can bill. */
  max_minutes: number;
  max_usd?: number;
  source: string;
  note: string;
}

function usd(value: number): number {
  return Math.round(value * 100) / 100;
}

function dollars(value: number): string {
  return `$${value.toFixed(2)}`;
}

/** The price, a typical (22 min) and a worst-case (timeout) figure for one build. */
export function estimateCost(
  computeType: string,
  timeoutMinutes: number,
  environmentType = 'LINUX_CONTAINER',
): CostEstimate {
  const maxMinutes = Math.max(1, Math.ceil(timeoutMinutes));
  const perMinute = CODEBUILD_PRICE_PER_MINUTE_USD[`${environmentType}/${computeType}`];
  const seed = 'The product description quotes ~$0.10 per PyTorch image build on BUILD_GENERAL1_MEDIUM (~20-25 min)';
  if (perMinute === undefined) {
    return {
      compute_type: computeType,
      environment_type: environmentType,
      typical_minutes: TYPICAL_BUILD_MINUTES,
      max_minutes: maxMinutes,
      source: PRICING_SOURCE,
      note:
        `CodeBuild bills this build to your AWS account per build minute; the price of ${computeType} ` +
        `(${environmentType}) is not in this tool's table — see aws.amazon.com/codebuild/pricing. ` +
        `It runs at most ${maxMinutes} min (the timeout). ${seed}.`,
    };
  }
  const typical = usd(perMinute * TYPICAL_BUILD_MINUTES);
  const max = usd(perMinute * maxMinutes);
  return {
    compute_type: computeType,
    environment_type: environmentType,
    per_minute_usd: perMinute,
    typical_minutes: TYPICAL_BUILD_MINUTES,
    typical_usd: typical,
    max_minutes: maxMinutes,
    max_usd: max,
    source: PRICING_SOURCE,
    note:
      `CodeBuild bills this build to your AWS account: ${computeType} costs about $${perMinute}/min ` +
      `(${PRICING_SOURCE}), so a typical ${TYPICAL_BUILD_MINUTES}-minute PyTorch build is about ${dollars(typical)} ` +
      `and at most ${dollars(max)} if it runs to its ${maxMinutes}-minute timeout. ` +
      `${seed}; at the listed price that is nearer ${dollars(usd(perMinute * 20))}-${dollars(usd(perMinute * 25))}.`,
  };
}

/** `timeoutSeconds` as CodeBuild's `timeoutInMinutes` (rounded up, within CodeBuild's 5-2160). */
export function timeoutMinutesFor(timeoutSeconds: number): number {
  return Math.min(2160, Math.max(5, Math.ceil(timeoutSeconds / 60)));
}
