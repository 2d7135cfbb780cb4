using Cnn.Trainer.Optim;

namespace Cnn.Trainer.Tests;

public class OptimizerTests
{
    private static Parameter P(float w, float g) { var p = new Parameter("p", [1]); p.Value[0] = w; p.Grad[0] = g; return p; }

    [Fact]
    public void SgdMomentumNesterovAndDecayFollowPyTorch()
    {
        var p = P(1f, 0.5f);
        var o = new Optimizer([p], OptimizerKind.Sgd, momentum: 0.9f, nesterov: true, weightDecay: 0.1f);
        o.Step(0.1f);             // g = 0.5 + 0.1 = 0.6; buf = 0.6; step g + 0.9·buf = 1.14
        Assert.Equal(1f - 0.114f, p.Value[0], 5);
        p.Grad[0] = 0.5f;         // g = 0.5 + 0.1·0.886 = 0.5886; buf = 0.54 + 0.5886 = 1.1286; step 0.5886 + 1.01574
        o.Step(0.1f);
        Assert.Equal(0.886f - 0.1f * (0.5886f + 0.9f * 1.1286f), p.Value[0], 5);
    }

    [Fact]
    public void AdamAndAdamWFirstStepsMoveByLr()
    {
        var a = P(1f, 3f);
        new Optimizer([a], OptimizerKind.Adam).Step(0.01f);
        Assert.Equal(0.99f, a.Value[0], 5);  // bias-corrected first step is lr·sign(g)
        var w = P(2f, -1f);
        new Optimizer([w], OptimizerKind.AdamW, weightDecay: 0.5f).Step(0.01f);
        Assert.Equal(2f - 0.01f * 0.5f * 2f + 0.01f, w.Value[0], 5);
        var f = P(2f, 1f); f.Frozen = true;
        new Optimizer([f], OptimizerKind.Sgd).Step(1f);
        Assert.Equal(2f, f.Value[0]);
    }

    [Fact]
    public void SchedulesProduceExpectedRates()
    {
        var cos = new LrSchedule { Kind = ScheduleKind.Cosine, BaseLr = 0.1f, WarmupSteps = 10 };
        Assert.Equal(0.01f, cos.At(0, 0, 110, 10), 6);
        Assert.Equal(0.1f, cos.At(10, 1, 110, 10), 6);
        Assert.Equal(0.05f, cos.At(60, 6, 110, 10), 5);
        Assert.Equal(0f, cos.At(110, 10, 110, 10), 5);
        var step = new LrSchedule { Kind = ScheduleKind.Step, BaseLr = 1f, StepEpochs = 2, Gamma = 0.5f };
        Assert.Equal(0.25f, step.At(0, 4, 100, 10));
        var plateau = new LrSchedule { Kind = ScheduleKind.ReduceOnPlateau, BaseLr = 1f, Patience = 1, Gamma = 0.1f };
        plateau.Observe(1.0); plateau.Observe(1.0); Assert.Equal(1f, plateau.At(0, 0, 1, 1));
        plateau.Observe(1.0); Assert.Equal(0.1f, plateau.At(0, 0, 1, 1), 6);
    }
}
