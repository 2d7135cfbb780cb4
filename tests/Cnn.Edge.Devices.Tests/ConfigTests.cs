using Cnn.Edge.Devices.Config;

namespace Cnn.Edge.Devices.Tests;

public class ConfigTests
{
    [Fact]
    public void AValidConfigLoadsWithSnakeCaseKeysAndComments()
    {
        var c = ConfigValidator.Load("""
            // a comment
            { "model": "m.cnnq", "board": "pi5",
              "camera": { "source": "synthetic", "width": 160, "height": 120 },
              "trigger": { "mode": "gpio", "pin": 17, "debounce_ms": 30, "burst": 3 },
              "decision": { "min_confidence": 0.7, "confirm_frames": 2 },
              "gpio": { "chip_label": "pinctrl-rp1", "busy_pin": 22,
                        "outputs": [ { "class": "bird", "pin": 23, "mode": "pulse", "pulse_ms": 300 } ] }, }
            """, checkFiles: false);
        Assert.Equal("pinctrl-rp1", c.Gpio.ChipLabel);
        Assert.Equal(300, c.Gpio.Outputs[0].PulseMs);
        Assert.Equal(17, c.Trigger.Pin);
        Assert.Equal(0.7f, c.Decision.MinConfidence);
        Assert.Equal(0.56f, ConfigValidator.ReleaseConfidence(c.Decision), 4);
    }

    [Fact]
    public void ThreadsDefaultToTheBoardsSuggestionElseTheCoreCount()
    {
        var pi4 = Boards.BoardProfile.Get("pi4");
        var onPi4 = ConfigValidator.Load("""{ "model": "m.cnnq", "board": "pi4" }""", checkFiles: false);
        Assert.Null(onPi4.Threads);
        Assert.Equal(pi4.Threads, onPi4.EffectiveThreads(pi4));
        Assert.Equal(2, onPi4.EffectiveThreads(pi4));

        var noBoard = ConfigValidator.Load("""{ "model": "m.cnnq" }""", checkFiles: false);
        Assert.Equal(Environment.ProcessorCount, noBoard.EffectiveThreads(null));

        var set = ConfigValidator.Load("""{ "model": "m.cnnq", "board": "pi4", "threads": 3 }""", checkFiles: false);
        Assert.Equal(3, set.EffectiveThreads(pi4));

        var tooMany = Assert.Throws<ConfigException>(() => ConfigValidator.Load("""{ "model": "m.cnnq", "board": "pi4", "threads": 5 }""", checkFiles: false));
        Assert.Contains("threads: 5 is more than the 4 cores", tooMany.Message);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnceByKey()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Load("""
            { "modle": "typo.cnnq", "threads": 0, "board": "pi4",
              "camera": { "source": "webcam", "width": 8, "reopen_min_ms": 5000, "reopen_max_ms": 1000, "colour": 1 },
              "trigger": { "mode": "gpio", "burst": 1 },
              "decision": { "min_confidence": 1.5, "confirm_frames": 3 },
              "gpio": { "driver": "magic", "busy_pin": 23,
                        "outputs": [ { "class": "a", "pin": 23, "mode": "blink" }, { "pin": 99 } ] } }
            """, "pi.json", checkFiles: false));
        string[] keys = e.Problems.Select(p => p.Key).ToArray();
        string[] expected = [
            "modle", "model", "threads", "camera.colour", "camera.source", "camera.width", "camera.reopen_max_ms",
            "decision.min_confidence", "trigger.burst", "trigger.pin", "gpio.driver",
            "gpio.outputs[0].pin", "gpio.outputs[0].mode", "gpio.outputs[1].class", "gpio.outputs[1].pin"];
        foreach (string k in expected) Assert.Contains(k, keys);
        Assert.StartsWith("pi.json: ", e.Message);
        Assert.Contains("GPIO 23 is already used by gpio.busy_pin", e.Message);
        Assert.Contains(e.Problems, p => p.Key == "gpio.outputs[1].pin" && p.Message.Contains("0..57"));
        Assert.True(e.Problems.Count >= expected.Length);
    }

    [Fact]
    public void TypeErrorsNameTheKey()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Load("""{ "model": "m", "camera": { "width": "wide" } }""", checkFiles: false));
        Assert.Equal("camera.width", e.Problems.Single().Key);
    }

    [Fact]
    public void EveryTypeErrorIsReportedAtOnceWithTheValue()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Load("""
            { "model": "m", "threads": 1.5, "labels": ["a", 2],
              "camera": { "width": "wide", "loop": "yes" },
              "decision": { "min_confidence": "high" },
              "gpio": { "outputs": [ 7, { "class": "a", "pin": "23" } ] },
              "log": [] }
            """, checkFiles: false));
        var byKey = e.Problems.ToDictionary(p => p.Key, p => p.Message);
        Assert.Equal("must be a whole number (32-bit) (got the number 1.5)", byKey["threads"]);
        Assert.Contains("must be a string (got the number 2)", byKey["labels[1]"]);
        Assert.Equal("must be a whole number (32-bit) (got a string \"wide\")", byKey["camera.width"]);
        Assert.Contains("must be true or false", byKey["camera.loop"]);
        Assert.Contains("must be a number", byKey["decision.min_confidence"]);
        Assert.Contains("must be an object (got the number 7)", byKey["gpio.outputs[0]"]);
        Assert.Contains("got a string \"23\"", byKey["gpio.outputs[1].pin"]);
        Assert.Contains("must be an object", byKey["log"]);
    }

    [Fact]
    public void SyntaxErrorsGiveTheLineAndDuplicateKeysAreNamed()
    {
        var syntax = Assert.Throws<ConfigException>(() => ConfigValidator.Load("{ \"model\": \"m\",\n  \"threads\": }", "pi.json", checkFiles: false));
        Assert.Equal("(file)", syntax.Problems.Single().Key);
        Assert.Contains("not valid JSON (line 2", syntax.Message);
        var notObject = Assert.Throws<ConfigException>(() => ConfigValidator.Load("[1, 2]", checkFiles: false));
        Assert.Equal("the file holds an array, not a JSON object", notObject.Problems.Single().Message);
        var twice = Assert.Throws<ConfigException>(() => ConfigValidator.Load("""{ "model": "m", "camera": { "width": 320, "width": 640 } }""", checkFiles: false));
        Assert.Contains(twice.Problems, p => p.Key == "camera.width" && p.Message == "is given twice");
    }

    [Theory]
    [InlineData("rpi")]
    [InlineData("sysfs")]
    public void RemovedGpioDriversPointToCdev(string driver)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Load($$"""{ "model": "m", "gpio": { "driver": "{{driver}}" } }""", checkFiles: false));
        var p = e.Problems.Single();
        Assert.Equal("gpio.driver", p.Key);
        Assert.Contains("use cdev", p.Message);
        Assert.Equal("cdev", ConfigValidator.Load("""{ "model": "m", "gpio": { "driver": "cdev" } }""", checkFiles: false).Gpio.Driver);
    }

    [Fact]
    public void MissingFilesAreReported()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Load(
            """{ "model": "/nonexistent/m.cnnq", "camera": { "source": "folder", "path": "/nonexistent/frames" } }"""));
        Assert.Contains(e.Problems, p => p.Key == "model" && p.Message.Contains("does not exist"));
        Assert.Contains(e.Problems, p => p.Key == "camera.path");
    }

    [Fact]
    public void OutputClassesAreCheckedAgainstConfiguredLabels()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigValidator.Load(
            """{ "model": "m", "labels": ["none", "cat", "cat"], "gpio": { "outputs": [ { "class": "dog", "pin": 5 }, { "class": "1", "pin": 6 } ] } }""",
            checkFiles: false));
        Assert.Contains(e.Problems, p => p.Key == "labels[2]");
        Assert.Contains(e.Problems, p => p.Key == "gpio.outputs[0].class");
        Assert.DoesNotContain(e.Problems, p => p.Key == "gpio.outputs[1].class");
    }
}
