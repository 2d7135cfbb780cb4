namespace Cnn.Qemu.GuestProbe;

internal sealed record Args(int Chip, int Out, int In, string Video, string Ready)
{
    public static Args Parse(string[] args)
    {
        int chip = -1, output = 0, input = 1;
        string video = "/dev/video0", ready = "/tmp/probe-held";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--chip": chip = int.Parse(args[i + 1]); break;
                case "--out": output = int.Parse(args[i + 1]); break;
                case "--in": input = int.Parse(args[i + 1]); break;
                case "--video": video = args[i + 1]; break;
                case "--ready": ready = args[i + 1]; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if (chip < 0) throw new ArgumentException("--chip N (the gpio-sim chip number) is required");
        return new Args(chip, output, input, video, ready);
    }
}
