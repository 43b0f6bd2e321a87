import { Module } from '@nestjs/common';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignsRepository } from './campaigns.repository';

/** What the device side needs of campaigns: the counters' reader and the halt on every status. */
@Module({
  providers: [CampaignsRepository, CampaignStatusFeed],
  exports: [CampaignsRepository, CampaignStatusFeed],
})
export class CampaignProgressModule {}
