// The device application: camera-triggered classification to GPIO (see README.md beside this file).
Console.Error.WriteLine("cnn-pi: the device loop is not built yet (issue 6).");
return 2;
