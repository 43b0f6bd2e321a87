import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import type { Response } from 'express';
import { runProbes } from '@meterkeep/observability';
import { ServiceState } from './readiness';

@Controller('health')
export class HealthController {
  constructor(private readonly state: ServiceState) {}

  /** The process is up; Kubernetes restarts it only when this fails. */
  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /** Ready only while every store answers and no shutdown has begun; 503 takes it out of rotation. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) response: Response) {
    const checks = await runProbes(this.state.probes);
    const ok = !this.state.draining && checks.every((c) => c.ok);
    response.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : this.state.draining ? 'draining' : 'not-ready', checks };
  }
}
