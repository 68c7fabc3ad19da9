import { AlreadyExists, StaleWrite } from '../store/errors.js';

const ATTEMPTS = 100;

/**
 * Runs a read-decide-write step again while it loses a race: a versioned write that found the
 * row changed, or a create that found the name just taken. Each attempt reads afresh.
 */
export async function retryOnRace<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof StaleWrite || err instanceof AlreadyExists) || attempt >= ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 2)));
    }
  }
}
