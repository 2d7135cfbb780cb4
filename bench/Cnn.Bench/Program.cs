// Benchmarks that compare against peers in one run (see bench/README.md).
Console.Error.WriteLine("usage: Cnn.Bench <suite>  (no suites yet)");
return 2;
