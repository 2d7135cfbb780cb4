// NativeAOT check runner: the arm64 device binary's view of Cnn.Edge's kernels and loader.
// Usage: Cnn.Edge.AotTests [substring filter] ; exit code 0 only if every selected check passed.
// Every check is listed in Checks.All (no reflection: the binary is trimmed and AOT-compiled).
using System.Diagnostics;
using Cnn.Edge.AotTests;

string? filter = args.Length > 0 ? args[0] : null;
Console.WriteLine($"Cnn.Edge.AotTests on {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}: {Cpu.Describe()}");

int passed = 0, failed = 0, skipped = 0;
var total = Stopwatch.StartNew();
foreach (var check in Checks.All)
{
    if (filter is not null && !check.Name.Contains(filter, StringComparison.Ordinal)) continue;
    var sw = Stopwatch.StartNew();
    try
    {
        check.Body();
        passed++;
        Console.WriteLine($"PASS {check.Name} ({sw.ElapsedMilliseconds} ms)");
    }
    catch (SkipException e)
    {
        skipped++;
        Console.WriteLine($"SKIP {check.Name}: {e.Message}");
    }
    catch (Exception e)
    {
        failed++;
        Console.WriteLine($"FAIL {check.Name} ({sw.ElapsedMilliseconds} ms): {e.GetType().Name}: {e.Message}");
    }
}
Console.WriteLine($"time {total.ElapsedMilliseconds} ms, {skipped} skipped");
Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 && passed > 0 ? 0 : 1;
