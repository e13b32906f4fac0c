//! Benchmark of the fee waiver's work for one waived transaction, its most
//! expensive case: a participant's waived call, counted against a budget
//! already in use in the current window.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::dispatch::{DispatchInfo, GetDispatchInfo, PostDispatchInfo};
use frame_system::RawOrigin;
use sp_runtime::traits::{AsSystemOriginSigner, DispatchTransaction, Dispatchable};

#[benchmarks(where
    T: Send + Sync,
    <T as frame_system::Config>::RuntimeCall:
        Dispatchable<Info = DispatchInfo, PostInfo = PostDispatchInfo>,
    <T as frame_system::Config>::RuntimeOrigin: AsSystemOriginSigner<T::AccountId> + Clone,
)]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn waive_fee() {
        let who: T::AccountId = account("participant", 0, 0);
        let call = T::BenchmarkHelper::waived_call(&who);
        let window = Pallet::<T>::window_of(frame_system::Pallet::<T>::block_number());
        Usage::<T>::insert(&who, WindowUsage { window, calls: 1 });
        let info = call.get_dispatch_info();
        let extension = WaiveFeesForParticipants::<T, ()>::from(());
        #[block]
        {
            extension
                .test_run(
                    RawOrigin::Signed(who.clone()).into(),
                    &call,
                    &info,
                    0,
                    0,
                    |_| Ok(().into()),
                )
                .expect("the waived call is valid")
                .expect("the substitute call succeeds");
        }
        assert_eq!(Pallet::<T>::calls_in_window(&who), 2);
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
