using System.CommandLine;

namespace Cnn.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("cnn: train, quantize, inspect and run int8 CNNs for the edge.");
        return root.Parse(args).Invoke();
    }
}
