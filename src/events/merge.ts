/** Several subscriptions as one stream, in the order their events come; it ends when one does. */
import { Outlet, type Selector, type TopicSubscription } from './outlet.js';

class Merged<T> extends Outlet<T> {
  constructor(
    private readonly sources: TopicSubscription<T>[],
    selector: Selector<T>,
  ) {
    super(selector);
    for (const source of sources) {
      source.pipeTo({ push: (event) => this.offer(event), end: (error) => this.finish(error) });
    }
  }

  protected release(): void {
    for (const source of this.sources) void source.return();
  }
}

export const merge = <T>(
  sources: TopicSubscription<T>[],
  selector: Selector<T> = {},
): TopicSubscription<T> => new Merged(sources, selector);
