import type { OtaExecutionState } from '@meterkeep/contracts';
import { EXECUTION_MACHINE, type CampaignState } from './state-machines';

/**
 * What a meter's check-in does with a campaign execution, from the campaign's state (spec §6.6):
 * - a first directive (QUEUED → NOTIFIED) only while the campaign RUNS and admission let it out: after
 *   a halt or a pause, zero new notifications;
 * - after a halt, executions not yet installing are cancelled at their next check-in (one still queued
 *   waits: it was never notified, and a resume may let it out); installs under way finish;
 * - while cancelling, graceful cancels what was not downloading yet, force also what was (not installs).
 */

export type CancelMode = 'graceful' | 'force';

export type CheckInGate = 'notify' | 'hold' | 'cancel' | 'serve';

export function checkInGate(
  campaign: { state: CampaignState; cancelMode: CancelMode | null },
  execution: { state: OtaExecutionState; admitted: boolean },
): CheckInGate {
  const { state } = execution;
  if (campaign.state === 'HALTED' && state !== 'QUEUED' && EXECUTION_MACHINE.next(state, 'force-cancel').ok)
    return 'cancel';
  if (campaign.state === 'CANCELLING' || campaign.state === 'CANCELLED') {
    const event = campaign.cancelMode === 'force' ? 'force-cancel' : 'cancel';
    if (EXECUTION_MACHINE.next(state, event).ok) return 'cancel';
  }
  if (state !== 'QUEUED') return 'serve';
  return campaign.state === 'RUNNING' && execution.admitted ? 'notify' : 'hold';
}
