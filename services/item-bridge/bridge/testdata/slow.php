<?php
// A PHP application that takes 30 s to answer: the bridge must give up
// first, at its caller's deadline or at --php-timeout.
sleep(30);
header('Grpc-Status: 0');
