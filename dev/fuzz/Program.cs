using System.Diagnostics;
using Cnn.Edge.Tests;

// Seeded model-file fuzzer: every case must load or throw ModelFormatException; a model that loads must
// prepare (or throw ModelFormatException) and, every K-th, run. Failures print the seed and case, which
// --replay reproduces. Single-threaded on purpose (the build machine is shared).
long cases = 1_000_000;
int seed = Environment.TickCount;
long replay = -1;
int invokeEvery = 64;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--cases": cases = long.Parse(Next()); break;
        case "--seed": seed = int.Parse(Next()); break;
        case "--replay": replay = long.Parse(Next()); break;
        case "--invoke-every": invokeEvery = int.Parse(Next()); break;
        default:
            Console.Error.WriteLine("usage: dotnet run --project dev/fuzz -c Release -- [--cases N] [--seed S] [--replay CASE] [--invoke-every K]");
            return 2;
    }
}

var mutator = new FuzzMutator();
if (replay >= 0)
{
    Console.WriteLine(mutator.Mutate(seed, replay).Mutation);
    var r = mutator.Run(seed, replay, prepare: true, invoke: true);
    Console.WriteLine(r.Failure ?? $"ok: loaded={r.Loaded} prepared={r.Prepared}");
    return r.Failure is null ? 0 : 1;
}

Console.WriteLine($"fuzzing {cases} cases with seed {seed}");
var sw = Stopwatch.StartNew();
long loaded = 0, prepared = 0, failed = 0;
for (long c = 0; c < cases; c++)
{
    var r = mutator.Run(seed, c, prepare: true, invoke: invokeEvery > 0 && c % invokeEvery == 0);
    if (r.Loaded) loaded++;
    if (r.Prepared) prepared++;
    if (r.Failure is not null)
    {
        failed++;
        Console.WriteLine($"FAIL (replay: --seed {seed} --replay {c})\n{r.Failure}\n");
    }
    if ((c + 1) % 100_000 == 0)
        Console.WriteLine($"{c + 1} cases, {sw.Elapsed.TotalSeconds:F0} s, {loaded} loaded, {prepared} prepared, {failed} failures");
}
Console.WriteLine($"done: {cases} cases in {sw.Elapsed.TotalSeconds:F1} s, {loaded} loaded, {prepared} prepared, {failed} failures (seed {seed})");
return failed == 0 ? 0 : 1;
