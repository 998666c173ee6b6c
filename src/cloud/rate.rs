//! One request rate for every IAM call in flight, found by additive increase and
//! multiplicative decrease (AIMD, as TCP finds a link's capacity). IAM's rate is account-wide
//! and shared with every other tool, so rolecall learns it from `Throttling` answers rather
//! than being told: unlimited until the first one, then nine tenths of what got through in
//! the last second; each later throttle (at most one a second) cuts it by a tenth, and it
//! grows by one request a second each second while calls wait for it.
//!
//! `Aimd` is the pure arithmetic (times are seconds since the `Pace` began); `Pace` queues
//! callers in turn; `Feedback`, an SDK interceptor, reports each attempt's outcome, retries of
//! throttled calls included, since the SDK retries inside the call, and gives each throttled
//! retry its turn at the rate.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_iam::config::interceptors::FinalizerInterceptorContextMut;
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime_api::client::retries::classifiers::{RetryAction, RetryReason};
use aws_smithy_types::retry::ErrorKind;

/// What a throttled answer keeps of the rate (of what got through in the last second, at
/// the first one).
const DECREASE: f64 = 0.9;
/// Requests a second added per second of calls waiting for the rate.
const INCREASE: f64 = 1.0;
/// One decrease per window: answers to requests sent before a decrease say nothing new.
const COOLDOWN: f64 = 1.0;
/// The slowest rolecall goes, so that a run always moves.
const MIN_RATE: f64 = 1.0;

/// The limiter's state, driven by the clock it is given.
#[derive(Debug, Default)]
pub struct Aimd {
    /// Requests a second; `None` until IAM first throttles.
    rate: Option<f64>,
    last_send: f64,
    /// When a caller last had to wait: the rate only grows while it is what holds calls back.
    last_wait: Option<f64>,
    last_decrease: Option<f64>,
    /// When each answer of the last second that was not throttled came.
    successes: VecDeque<f64>,
}

impl Aimd {
    /// The current rate, requests a second, if there is one.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// How long a caller must still wait at `now` before its request may go.
    pub fn wait(&self, now: f64) -> Duration {
        match self.rate {
            None => Duration::ZERO,
            Some(rate) => Duration::from_secs_f64((self.last_send + 1.0 / rate - now).max(0.0)),
        }
    }

    /// A request goes at `now`; `waited` says whether it had to wait for the rate.
    pub fn sent(&mut self, now: f64, waited: bool) {
        self.last_send = now;
        if waited {
            self.last_wait = Some(now);
        }
    }

    /// An answer that was not throttled came at `now`.
    pub fn succeeded(&mut self, now: f64) {
        self.successes.push_back(now);
        while self.successes.front().is_some_and(|t| now - t > 1.0) {
            self.successes.pop_front();
        }
        let binding = self.last_wait.is_some_and(|t| now - t < 1.0);
        if let (Some(rate), true) = (self.rate.as_mut(), binding) {
            // INCREASE / rate per answer, `rate` answers a second: INCREASE a second.
            *rate += INCREASE / *rate;
        }
    }

    /// A `Throttling` answer came at `now`; the SDK will retry it (or give up). Cuts the
    /// rate, at most once a cooldown, and returns how long the retry is to wait: for a turn
    /// of its own at the rate, like every other request.
    pub fn throttled(&mut self, now: f64) -> Duration {
        let cooling = self.last_decrease.is_some_and(|t| now - t < COOLDOWN);
        if !cooling {
            let rate = match self.rate {
                // The first throttle: what got through in the last second is the estimate.
                None => {
                    let through = self.successes.iter().filter(|t| now - **t <= 1.0).count();
                    DECREASE * through as f64
                }
                Some(rate) => DECREASE * rate,
            };
            self.rate = Some(rate.max(MIN_RATE));
            self.last_decrease = Some(now);
        }
        let rate = self.rate.unwrap_or(MIN_RATE);
        let turn = (self.last_send + 1.0 / rate).max(now);
        self.last_send = turn;
        Duration::from_secs_f64(turn - now)
    }
}

/// The rate shared by all calls of one client, in the order they asked.
#[derive(Debug)]
pub struct Pace {
    epoch: Instant,
    state: Mutex<Aimd>,
    /// Callers wait here one at a time (tokio's mutex is fair), so that each wait is
    /// measured against the rate as it is when the caller's turn comes.
    turn: tokio::sync::Mutex<()>,
}

impl Pace {
    pub fn new() -> Arc<Pace> {
        Arc::new(Pace {
            epoch: Instant::now(),
            state: Mutex::default(),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Aimd> {
        self.state.lock().expect("rate state")
    }

    /// Returns when a request may go.
    pub async fn turn(&self) {
        let _turn = self.turn.lock().await;
        let mut waited = false;
        loop {
            let wait = self.state().wait(self.now());
            if wait.is_zero() {
                break;
            }
            waited = true;
            tokio::time::sleep(wait).await;
        }
        let now = self.now();
        self.state().sent(now, waited);
    }

    /// The SDK interceptor that tells this pace how each attempt went.
    pub fn feedback(self: &Arc<Pace>) -> Feedback {
        Feedback(self.clone())
    }
}

/// Tells a `Pace` whether each attempt was throttled, as the SDK's own retry classifiers
/// decide it (IAM's `Throttling` among their codes).
#[derive(Debug)]
pub struct Feedback(Arc<Pace>);

impl Intercept for Feedback {
    fn name(&self) -> &'static str {
        "rolecall rate feedback"
    }

    /// Runs before the SDK decides on a retry: a throttled answer is given the
    /// `x-amz-retry-after` header (milliseconds), which the SDK's standard retry honours as
    /// the backoff, so that the retry waits for its turn at the rate and not only for a
    /// jittered backoff that would send the throttled burst again at once.
    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_iam::error::BoxError> {
        let verdict =
            run_classifiers_on_ctx(runtime_components.retry_classifiers(), context.inner());
        let throttled = matches!(
            verdict,
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: ErrorKind::ThrottlingError,
                ..
            })
        );
        let now = self.0.now();
        if throttled {
            let wait = self.0.state().throttled(now);
            tracing::debug!(
                rate = self.0.state().rate(),
                ?wait,
                "IAM throttled a request"
            );
            if let Some(response) = context.response_mut() {
                // At least a millisecond: the SDK reads 0 as "no wait" and backs off itself.
                let millis = wait.as_millis().max(1).to_string();
                response.headers_mut().insert("x-amz-retry-after", millis);
            }
        } else if context.response().is_some() {
            self.0.state().succeeded(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends as the pace allows for `seconds`, through an account that admits `limit` a
    /// second (a bucket of one second's worth, as the tests' proxy keeps), each answer known
    /// at once. Returns (requests let through, throttled).
    fn simulate(limit: f64, seconds: f64) -> (u32, u32) {
        let mut aimd = Aimd::default();
        let (mut now, mut tokens, mut last) = (0.0_f64, limit, 0.0_f64);
        let (mut through, mut throttled) = (0, 0);
        while now < seconds {
            // Demand always exceeds the rate: the next caller goes as soon as allowed, or
            // every millisecond while there is no rate yet.
            now += aimd.wait(now).as_secs_f64().max(0.001);
            aimd.sent(now, true);
            tokens = (tokens + (now - last) * limit).min(limit);
            last = now;
            if tokens >= 1.0 {
                tokens -= 1.0;
                through += 1;
                aimd.succeeded(now);
            } else {
                throttled += 1;
                let _retry_waits = aimd.throttled(now);
            }
        }
        (through, throttled)
    }

    #[test]
    fn no_rate_until_throttled() {
        let mut aimd = Aimd::default();
        for i in 0..100 {
            assert_eq!(aimd.wait(f64::from(i) * 0.001), Duration::ZERO);
            aimd.sent(f64::from(i) * 0.001, false);
            aimd.succeeded(f64::from(i) * 0.001);
        }
        assert_eq!(aimd.rate(), None);
    }

    #[test]
    fn first_throttle_sets_nine_tenths_of_what_got_through() {
        let mut aimd = Aimd::default();
        for i in 0..20 {
            aimd.succeeded(0.5 + f64::from(i) * 0.01);
        }
        aimd.throttled(0.8);
        assert_eq!(aimd.rate(), Some(18.0));
        // A second throttle within the cooldown does not cut again.
        aimd.throttled(0.9);
        assert_eq!(aimd.rate(), Some(18.0));
    }

    #[test]
    fn a_known_rate_is_cut_by_a_tenth_never_below_the_minimum() {
        let mut aimd = Aimd::default();
        aimd.throttled(0.0);
        assert_eq!(aimd.rate(), Some(MIN_RATE));
        let mut aimd = Aimd {
            rate: Some(40.0),
            ..Aimd::default()
        };
        aimd.throttled(5.0);
        assert_eq!(aimd.rate(), Some(36.0));
    }

    #[test]
    fn grows_only_while_callers_wait() {
        let mut aimd = Aimd {
            rate: Some(10.0),
            ..Aimd::default()
        };
        aimd.sent(1.0, false);
        aimd.succeeded(1.05);
        assert_eq!(aimd.rate(), Some(10.0));
        aimd.sent(1.1, true);
        aimd.succeeded(1.15);
        assert!(aimd.rate().unwrap() > 10.0);
    }

    #[test]
    fn a_throttled_retry_takes_a_turn() {
        let mut aimd = Aimd {
            rate: Some(10.0),
            ..Aimd::default()
        };
        aimd.sent(1.0, true);
        aimd.last_decrease = Some(1.0);
        // The retry waits for the next turn, and the next request for the one after.
        let retry = aimd.throttled(1.05);
        assert!((retry.as_secs_f64() - 0.05).abs() < 1e-9, "{retry:?}");
        assert!((aimd.wait(1.05).as_secs_f64() - 0.15).abs() < 1e-9);
    }

    #[test]
    fn settles_near_the_limit_with_few_throttled() {
        let (through, throttled) = simulate(20.0, 300.0);
        eprintln!("{through} through, {throttled} throttled");
        let total = f64::from(through + throttled);
        // Within 5% of what the account allows, and under 5% of requests throttled.
        assert!(
            f64::from(through) >= 0.95 * 20.0 * 300.0,
            "{through} through"
        );
        assert!(
            f64::from(throttled) / total < 0.05,
            "{throttled} of {total}"
        );
    }
}
