/** `single-profile-handler` (reference): every request runs the one scheduling profile. */
import type { SchedulingContext } from '../../framework/context.js';
import { ParamReader } from '../../framework/params.js';
import type { SchedulerProfile } from '../../framework/scheduler.js';
import type { ProfileHandler } from '../../framework/types.js';

export const SINGLE_PROFILE_HANDLER = 'single-profile-handler';

export class SingleProfileHandler implements ProfileHandler {
  readonly kind = 'profile-handler';
  readonly type = SINGLE_PROFILE_HANDLER;

  constructor(readonly name: string) {}

  pickProfile(_ctx: SchedulingContext, profiles: readonly SchedulerProfile[]): SchedulerProfile {
    return profiles[0]!;
  }
}

export function createSingleProfileHandler(
  name: string,
  params: Readonly<Record<string, unknown>>,
): SingleProfileHandler {
  new ParamReader(SINGLE_PROFILE_HANDLER, params).done();
  return new SingleProfileHandler(name);
}
