using LlavaCot.Reasoning;
using LlavaCot.Tests;

namespace LlavaCot.Runtime.Tests;

public class DisposalTests
{
    [Fact]
    public async Task Host_worker_and_session_can_be_disposed_twice_and_in_any_order()
    {
        var host = await ModelHost.LoadAsync(new RuntimeOptions { ModelDirectory = Fixtures.MllamaTiny, Device = "cpu" });
        var session = await host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image(), "What is this"), default);
        var baseline = await host.LiveTensorsWithoutCachesAsync();
        var other = await host.Generator.OpenSessionAsync(new SessionRequest(TinyHost.Image("img2_96x96_rgb.png"), "And this"), default);
        await other.SampleAsync(new SampleRequest(other.PromptIds, [1, 2], StopCondition.EosOnly(3), SamplingOptions.Default), null, default);
        Assert.True(await host.LiveTensorsWithoutCachesAsync() > baseline, "an open session holds its image and its stage chain");
        await other.DisposeAsync();
        Assert.Equal(baseline, await host.LiveTensorsWithoutCachesAsync());
        await other.DisposeAsync();
        Assert.Equal(baseline, await host.LiveTensorsWithoutCachesAsync());

        host.Dispose();
        host.Dispose();
        host.Worker.Dispose();
        // The worker is gone: the session's tensors are left alone (never freed from this thread), without an error.
        await session.DisposeAsync();
        await session.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => host.Worker.RunAsync(() => 1));
    }

    [Fact]
    public async Task Tensor_work_off_the_model_thread_is_refused()
    {
        using var worker = new ModelWorker("test-worker");
        var ex = Assert.Throws<InvalidOperationException>(worker.ThrowIfNotCurrent);
        Assert.Contains("test-worker", ex.Message);
        await worker.RunAsync(worker.ThrowIfNotCurrent);
    }
}
