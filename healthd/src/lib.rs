//! Health checking of real servers: checkers, scheduler with jitter, sans-IO rise/fall state per target.
