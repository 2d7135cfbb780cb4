using System.Device.Gpio;
using Cnn.Edge.Devices.Boards;
using Cnn.Edge.Devices.Gpio;
using Cnn.Edge.Devices.Loop;

namespace Cnn.Edge.Devices.Tests;

public class DecisionFilterTests
{
    [Fact]
    public void NeedsConfirmFramesAboveMinConfidenceToEnter()
    {
        var d = new DecisionFilter(minConfidence: 0.6f, releaseConfidence: 0.4f, confirmFrames: 2);
        Assert.False(d.Update(1, 0.9f));
        Assert.Equal(-1, d.State);
        Assert.True(d.Update(1, 0.8f));
        Assert.Equal(1, d.State);
    }

    [Fact]
    public void LowConfidenceNeverEnters()
    {
        var d = new DecisionFilter(0.6f, 0.4f, 1);
        for (int i = 0; i < 5; i++) Assert.False(d.Update(2, 0.59f));
        Assert.Equal(-1, d.State);
    }

    [Fact]
    public void HysteresisHoldsTheClassBetweenReleaseAndMin()
    {
        var d = new DecisionFilter(0.6f, 0.4f, 1);
        Assert.True(d.Update(0, 0.7f));
        // Wobbling between 0.45 and 0.65 keeps class 0: no relay chatter.
        foreach (float s in new[] { 0.45f, 0.65f, 0.41f, 0.5f }) Assert.False(d.Update(0, s));
        Assert.Equal(0, d.State);
        Assert.True(d.Update(0, 0.3f));
        Assert.Equal(-1, d.State);
    }

    [Fact]
    public void AlternatingClassesDoNotConfirm()
    {
        var d = new DecisionFilter(0.5f, 0.5f, 2);
        for (int i = 0; i < 6; i++) Assert.False(d.Update(i % 2, 0.9f));
        Assert.Equal(-1, d.State);
    }

    [Fact]
    public void BackgroundClassDecidesNone()
    {
        var d = new DecisionFilter(0.5f, 0.4f, 1, backgroundClass: 0);
        Assert.True(d.Update(2, 0.9f));
        Assert.True(d.Update(0, 0.99f));
        Assert.Equal(-1, d.State);
    }
}

public class GpioTests
{
    [Fact]
    public void LevelAndPulseOutputsWithActiveLow()
    {
        var clock = new ManualClock();
        var driver = new SimulatedGpioDriver(clock: () => clock.Now);
        using var gpio = new GpioController(driver);
        using var outs = new GpioOutputs(gpio, [
            new OutputPinSpec(23, ClassIndex: 1, ActiveLow: false, Mode: OutputMode.Level),
            new OutputPinSpec(24, ClassIndex: 2, ActiveLow: true, Mode: OutputMode.Pulse, PulseMs: 200)], clock);
        // Opened in the inactive level: low for active-high, high for active-low.
        Assert.Equal(PinValue.Low, driver.ValueOf(23));
        Assert.Equal(PinValue.High, driver.ValueOf(24));

        outs.SetState(1);
        Assert.Equal(PinValue.High, driver.ValueOf(23));
        outs.SetState(2);
        Assert.Equal(PinValue.Low, driver.ValueOf(23));
        Assert.Equal(PinValue.Low, driver.ValueOf(24)); // active-low pulse on
        clock.Advance(TimeSpan.FromMilliseconds(150));
        outs.Tick();
        Assert.Equal(PinValue.Low, driver.ValueOf(24));
        clock.Advance(TimeSpan.FromMilliseconds(60));
        outs.Tick();
        Assert.Equal(PinValue.High, driver.ValueOf(24)); // pulse over, class still 2
        Assert.Equal(2, outs.State);
        // Staying in class 2 does not pulse again.
        outs.SetState(2);
        Assert.Equal(PinValue.High, driver.ValueOf(24));
    }

    [Fact]
    public void DisposeLeavesSafeStateAndReleasesPins()
    {
        var driver = new SimulatedGpioDriver();
        using var gpio = new GpioController(driver);
        var outs = new GpioOutputs(gpio, [new OutputPinSpec(5, 0)], LoopClock.System, busyPin: 6);
        outs.SetState(0);
        outs.Busy(true);
        Assert.Equal(PinValue.High, driver.ValueOf(5));
        outs.Dispose();
        Assert.Equal(PinValue.Low, driver.ValueOf(5));
        Assert.Equal(PinValue.Low, driver.ValueOf(6));
        Assert.False(driver.IsOpen(5));
        Assert.False(driver.IsOpen(6));
    }

    [Fact]
    public void HeartbeatTogglesAtItsPeriod()
    {
        var clock = new ManualClock();
        var driver = new SimulatedGpioDriver(clock: () => clock.Now);
        using var gpio = new GpioController(driver);
        using var outs = new GpioOutputs(gpio, [], clock, heartbeatPin: 4, heartbeatMs: 100);
        driver.ClearWrites();
        for (int i = 0; i < 10; i++) { outs.Tick(); clock.Advance(TimeSpan.FromMilliseconds(50)); }
        Assert.Equal(5, driver.Writes.Count(w => w.Pin == 4));
    }

    [Fact]
    public void TriggerDebouncesBounces()
    {
        var clock = new ManualClock();
        var driver = new SimulatedGpioDriver();
        using var gpio = new GpioController(driver);
        using var trig = new GpioTrigger(gpio, 17, PinEventTypes.Rising, PinMode.InputPullDown, debounceMs: 50, clock);
        // A bouncing press: 4 rising edges within 6 ms, then a second press 200 ms later.
        for (int i = 0; i < 4; i++)
        {
            driver.SetInput(17, PinValue.High);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            driver.SetInput(17, PinValue.Low);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }
        Assert.True(trig.TryConsume());
        Assert.False(trig.TryConsume());
        Assert.Equal((1, 3), (trig.Accepted, trig.Rejected));
        clock.Advance(TimeSpan.FromMilliseconds(200));
        driver.SetInput(17, PinValue.High);
        Assert.True(trig.TryConsume());
        Assert.Equal(2, trig.Accepted);
    }
}

public class BoardProfileTests
{
    [Theory]
    [InlineData("pi4", false, "pinctrl-bcm2711", "cortex-a72")]
    [InlineData("pi5", true, "pinctrl-rp1", "cortex-a76")]
    [InlineData("zero2w", false, "pinctrl-bcm2835", "cortex-a53")]
    public void BuiltInProfilesDescribeTheBoards(string name, bool dotprod, string label, string cpu)
    {
        var b = BoardProfile.Get(name);
        Assert.Equal(name, b.Name);
        Assert.Equal(dotprod, b.NeonDotprod);
        Assert.Equal(label, b.GpioChipLabel);
        Assert.Equal(cpu, b.Cpu);
        Assert.Equal(4, b.Cores);
        Assert.Equal(17, b.HeaderPins["11"]);
        Assert.Equal(11, b.PhysicalPinOf(17));
        Assert.Equal(28, b.HeaderPins.Count);
        Assert.True(b.MemoryBudgetBytes > 0);
    }

    [Fact]
    public void ProfilesInTheRepositoryMatchTheBuiltInOnes()
    {
        string? dir = FindUp("hardware/boards");
        if (dir is null) Assert.Skip("hardware/boards not found above the test directory (running outside the repository)");
        foreach (string name in BoardProfile.BuiltInNames)
            Assert.Equal(BoardProfile.LoadFile(Path.Combine(dir, name + ".json")).Model, BoardProfile.Get(name).Model);
    }

    [Fact]
    public void UnknownBoardNamesTheChoices()
    {
        var e = Assert.Throws<ArgumentException>(() => BoardProfile.Get("pi3"));
        Assert.Contains("pi4, pi5, zero2w", e.Message);
    }

    internal static string? FindUp(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, relative);
            if (Directory.Exists(p)) return p;
        }
        return null;
    }
}
