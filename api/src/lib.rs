//! Types of the vgwd D-Bus API (org.vgw.Vgwd1), shared by vgwd and vgwctl.
