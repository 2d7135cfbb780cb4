using Cnn.Edge.Kernels;

namespace Cnn.Edge.Tests;

public class RequantizeTests
{
    [Theory]
    [InlineData(0.5, 1 << 30, 0)]
    [InlineData(1.0, 1 << 30, 1)]
    [InlineData(0.25, 1 << 30, -1)]
    [InlineData(0.75, 3 << 29, 0)]
    public void QuantizeMultiplierSplitsPowersOfTwo(double m, int expectedMultiplier, int expectedShift)
    {
        var (mult, shift) = Requantize.QuantizeMultiplier(m);
        Assert.Equal(expectedMultiplier, mult);
        Assert.Equal(expectedShift, shift);
    }

    [Fact]
    public void ApplyIsWithinOneLsbOfTheRealProductAndRoundsTiesAsTheSpecSays()
    {
        var rng = new Random(1234);
        for (int i = 0; i < 100_000; i++)
        {
            double m = Math.Exp(rng.NextDouble() * 20 - 16); // 1e-7 .. 50
            var (mult, shift) = Requantize.QuantizeMultiplier(m);
            int x = rng.Next(-1 << 20, 1 << 20);
            double exact = x * (mult * Math.Pow(2, shift - 31));
            int got = Requantize.Apply(x, mult, shift);
            // Two roundings (high multiply, then shift) can together miss by up to, never reaching, 1 LSB.
            Assert.True(Math.Abs(got - exact) < 1.0, $"x={x} m={m} mult={mult} shift={shift} got={got} exact={exact}");
        }
        // The high multiply rounds ties up (SQRDMULH); the final shift rounds ties away from zero.
        Assert.Equal(2, Requantize.SaturatingRoundingDoublingHighMul(3, 1 << 30));   // 1.5 -> 2
        Assert.Equal(-1, Requantize.SaturatingRoundingDoublingHighMul(-3, 1 << 30)); // -1.5 -> -1
        Assert.Equal(2, Requantize.RoundingDivideByPot(3, 1));   // 1.5 -> 2
        Assert.Equal(-2, Requantize.RoundingDivideByPot(-3, 1)); // -1.5 -> -2
        Assert.Equal(int.MaxValue, Requantize.SaturatingRoundingDoublingHighMul(int.MinValue, int.MinValue));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-1.0)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e12)]
    public void QuantizeMultiplierRejectsUnrepresentable(double m)
        => Assert.Throws<ArgumentOutOfRangeException>(() => Requantize.QuantizeMultiplier(m));
}
