using System.Diagnostics;

namespace Cnn.Edge.Tests;

/// <summary>
/// The mutation test: 100,000 mutated model files per run (fixed seed, so CI is reproducible; the
/// longer, random-seeded run is `dotnet run --project dev/fuzz -c Release -- --cases N`).
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int Cases = 100_000;
    private const int Seed = 20261124;

    [Fact]
    public void EveryMutatedFileLoadsOrThrowsModelFormatException()
    {
        var mutator = new FuzzMutator();
        var failures = new List<string>();
        int loaded = 0, prepared = 0;
        long run = 0;
        var sw = Stopwatch.StartNew();
        for (long i = 0; i < Cases && failures.Count < 5; i++, run++)
        {
            // Preparing and running the kernels costs more than loading: do it for a sample.
            var r = mutator.Run(Seed, i, prepare: i % 4 == 0, invoke: i % 64 == 0);
            if (r.Loaded) loaded++;
            if (r.Prepared) prepared++;
            if (r.Failure is not null) failures.Add(r.Failure);
        }
        output.WriteLine($"{run} cases in {sw.Elapsed.TotalSeconds:F1} s: {loaded} loaded, {prepared} of the sampled ones prepared, {run - loaded} rejected at load with ModelFormatException");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
        Assert.Equal(Cases, run);
        // The mutations must exercise both paths, or the test proves nothing.
        Assert.InRange(loaded, Cases / 100, Cases * 9 / 10);
    }

    [Fact]
    public void MutationsAreReproducibleFromSeedAndCase()
    {
        var a = new FuzzMutator().Mutate(Seed, 12345);
        var b = new FuzzMutator().Mutate(Seed, 12345);
        Assert.Equal(a.Mutation, b.Mutation);
        Assert.Equal(a.File, b.File);
    }
}
