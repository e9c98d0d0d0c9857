/**
 * The output stream's shard map for the aggregating sink: loaded from ListShards before the first
 * aggregate, and reloaded when a put lands on a shard other than the one predicted (a split or merge
 * happened since). Concurrent reloads share one ListShards call.
 */
import type { ShardLister } from '../../../shared/aws/kinesis-gateway';
import { ShardRanges } from './shard-ranges';

export class OutputShardMap {
  private current: ShardRanges | undefined;
  private loading: Promise<ShardRanges> | undefined;
  /** How many times the map was loaded. */
  loads = 0;

  constructor(
    private readonly lister: ShardLister,
    private readonly streamArn: string,
  ) {}

  /** The map, or undefined before the first load finished. */
  get ranges(): ShardRanges | undefined {
    return this.current;
  }

  /** Loads the map again (or joins the load under way); rejects when ListShards fails. */
  refresh(): Promise<ShardRanges> {
    this.loading ??= this.lister
      .listShards(this.streamArn)
      .then((shards) => {
        this.current = new ShardRanges(shards);
        this.loads += 1;
        return this.current;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }
}
